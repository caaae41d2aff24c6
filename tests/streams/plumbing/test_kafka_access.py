"""How every Kafka client connects: security settings validated at start-up, one set of options
for aiokafka and kafka-python, and a refused credential or an untrusted certificate told from
an outage within seconds, against a real broker with SASL_SSL and mTLS listeners."""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streams.plumbing.kafka_access import KafkaAccess, check_kafka, kafka_access, refusal
from streams.plumbing.settings import (
    CONNECTION_ENVIRONMENT,
    Connections,
    SettingsError,
    settings_from,
)
from streams.plumbing.topics import broker_count
from tests.conftest import SecureKafka


def connections(**environ: str) -> Connections:
    return settings_from({}, environ, Connections, CONNECTION_ENVIRONMENT)


def refused(**environ: str) -> str:
    with pytest.raises(SettingsError) as e:
        connections(**environ)
    return str(e.value)


def test_plaintext_is_the_default_and_adds_no_security_options() -> None:
    assert kafka_access(Connections()).client_options() == {
        "bootstrap_servers": "127.0.0.1:9092", "security_protocol": "PLAINTEXT"}  # fmt: skip


def test_sasl_needs_a_user_name_and_a_password() -> None:
    message = refused(LEADTEMP_KAFKA_SECURITY_PROTOCOL="SASL_SSL", LEADTEMP_KAFKA_USERNAME="u")
    assert message.startswith("setting kafka_password (LEADTEMP_KAFKA_PASSWORD): needed with")


def test_a_password_without_sasl_is_refused_rather_than_ignored() -> None:
    message = refused(LEADTEMP_KAFKA_PASSWORD="pw", LEADTEMP_KAFKA_USERNAME="u")
    assert message.startswith("setting kafka_username (LEADTEMP_KAFKA_USERNAME): only used")


def test_certificate_files_need_a_tls_protocol() -> None:
    message = refused(LEADTEMP_KAFKA_CA_FILE="/etc/hostname")
    assert "kafka_ca_file (LEADTEMP_KAFKA_CA_FILE): needs kafka_security_protocol SSL" in message


def test_a_client_certificate_needs_its_key() -> None:
    message = refused(LEADTEMP_KAFKA_SECURITY_PROTOCOL="SSL",
                      LEADTEMP_KAFKA_CERT_FILE="/etc/hostname")  # fmt: skip
    assert message.startswith("setting kafka_key_file (LEADTEMP_KAFKA_KEY_FILE): a client")


def test_an_unknown_mechanism_is_refused_naming_the_choices() -> None:
    message = refused(LEADTEMP_KAFKA_SASL_MECHANISM="SCRAM-SHA-1")
    assert "kafka_sasl_mechanism (LEADTEMP_KAFKA_SASL_MECHANISM)" in message
    assert "'SCRAM-SHA-512'" in message


def test_the_password_may_come_from_a_file_and_is_never_in_a_repr(tmp_path: Any) -> None:
    secret = tmp_path / "password"
    secret.write_text("pw-from-file\n")
    settings = connections(LEADTEMP_KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
                           LEADTEMP_KAFKA_USERNAME="u",
                           LEADTEMP_KAFKA_PASSWORD_FILE=str(secret))  # fmt: skip
    access = kafka_access(settings)
    assert access.client_options()["sasl_plain_password"] == "pw-from-file"
    assert "pw-from-file" not in repr(access) and "pw-from-file" not in repr(settings)


def test_sasl_ssl_options_carry_a_context_that_verifies_certificates_and_host_names() -> None:
    access = KafkaAccess("b:9093", "SASL_SSL", "SCRAM-SHA-256", "u", "pw")
    options = access.client_options()
    assert (options["security_protocol"], options["sasl_mechanism"]) == ("SASL_SSL",
                                                                         "SCRAM-SHA-256")
    context = options["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_sasl_plaintext_options_carry_no_tls_context() -> None:
    options = KafkaAccess("b:9092", "SASL_PLAINTEXT", "PLAIN", "u", "pw").client_options()
    assert "ssl_context" not in options


@pytest.mark.parametrize(("logged", "setting"), [
    ("SaslAuthenticationFailed: Authentication failed during authentication due to invalid "
     "credentials with SASL mechanism SCRAM-SHA-512", "kafka_password"),
    ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer",
     "kafka_ca_file"),
    ("[Error 33] UnsupportedSaslMechanismError: <AIOKafkaConnection>", "kafka_sasl_mechanism"),
    ("[Error 34] IllegalSaslStateError: <AIOKafkaConnection>", "kafka_security_protocol"),
])  # fmt: skip
def test_a_refusal_is_told_by_what_the_client_logged(logged: str, setting: str) -> None:
    found = refusal([f'Unable connect to "127.0.0.1:9093": {logged}'])
    assert found is not None and found[0] == setting


def test_a_broker_that_does_not_answer_is_an_outage_not_a_refusal() -> None:
    assert refusal(["Unable connect to \"127.0.0.1:1\": [Errno 111] Connect call failed"]) is None


# ---------------------------------------------------------------- against a secured broker


def sasl_ssl(kafka: SecureKafka, **changes: Any) -> KafkaAccess:
    fields = dict(bootstrap=kafka.sasl_ssl, security_protocol="SASL_SSL",
                  sasl_mechanism="SCRAM-SHA-512", username=kafka.user, password=kafka.password,
                  ca_file=str(kafka.ca_file))  # fmt: skip
    return KafkaAccess(**{**fields, **changes})


def check_refusal(access: KafkaAccess) -> tuple[str, float]:
    started = time.monotonic()
    with pytest.raises(SettingsError) as e:
        asyncio.run(check_kafka(access))
    return str(e.value), time.monotonic() - started


@pytest.mark.services
def test_a_produce_and_consume_over_sasl_ssl_with_scram(secure_kafka: SecureKafka) -> None:
    access = sasl_ssl(secure_kafka)

    async def round_trip() -> bytes:
        producer = AIOKafkaProducer(**access.client_options(), enable_idempotence=True)
        consumer = AIOKafkaConsumer("secure-round-trip", **access.client_options(),
                                    auto_offset_reset="earliest", group_id=None)  # fmt: skip
        await producer.start()
        await consumer.start()
        try:
            await producer.send_and_wait("secure-round-trip", b"over SASL_SSL")
            return (await asyncio.wait_for(consumer.getone(), 30)).value  # type: ignore[no-any-return]
        finally:
            await producer.stop()
            await consumer.stop()

    asyncio.run(check_kafka(access))
    assert asyncio.run(round_trip()) == b"over SASL_SSL"


@pytest.mark.services
def test_the_admin_client_connects_with_the_same_options(secure_kafka: SecureKafka) -> None:
    assert broker_count(sasl_ssl(secure_kafka)) == 1


@pytest.mark.services
def test_a_client_certificate_opens_the_mtls_listener(secure_kafka: SecureKafka) -> None:
    access = KafkaAccess(secure_kafka.mtls, "SSL", ca_file=str(secure_kafka.ca_file),
                         cert_file=str(secure_kafka.cert_file),
                         key_file=str(secure_kafka.key_file))  # fmt: skip
    asyncio.run(check_kafka(access))
    assert broker_count(access) == 1


@pytest.mark.services
def test_a_wrong_password_is_told_within_seconds_naming_the_setting(
    secure_kafka: SecureKafka,
) -> None:
    message, took = check_refusal(sasl_ssl(secure_kafka, password="not-the-password"))
    assert message.startswith("setting kafka_password (LEADTEMP_KAFKA_PASSWORD): the brokers "
                              "refused the user name or password")  # fmt: skip
    assert took < 5 and "not-the-password" not in message


@pytest.mark.services
def test_an_untrusted_certificate_is_told_naming_the_ca_setting(
    secure_kafka: SecureKafka,
) -> None:
    message, took = check_refusal(sasl_ssl(secure_kafka, ca_file=str(secure_kafka.other_ca_file)))
    assert message.startswith("setting kafka_ca_file (LEADTEMP_KAFKA_CA_FILE): the brokers' "
                              "TLS certificate is not trusted")  # fmt: skip
    assert took < 5


@pytest.mark.services
def test_a_mechanism_the_brokers_do_not_offer_is_told_naming_it(
    secure_kafka: SecureKafka,
) -> None:
    message, _ = check_refusal(sasl_ssl(secure_kafka, sasl_mechanism="PLAIN"))
    assert message.startswith("setting kafka_sasl_mechanism (LEADTEMP_KAFKA_SASL_MECHANISM)")


@pytest.mark.services
def test_sasl_to_a_plaintext_listener_is_told_naming_the_protocol(
    secure_kafka: SecureKafka,
) -> None:
    access = sasl_ssl(secure_kafka, bootstrap=secure_kafka.plaintext,
                      security_protocol="SASL_PLAINTEXT", ca_file=None)  # fmt: skip
    message, _ = check_refusal(access)
    assert message.startswith("setting kafka_security_protocol")


def test_brokers_that_do_not_answer_are_left_to_the_callers_backoff() -> None:
    from devstack.processes import free_port

    asyncio.run(check_kafka(KafkaAccess(f"127.0.0.1:{free_port()}")))  # returns, no error

