import pytest

from tests.conftest import EXAMPLES, SHARED_EXAMPLES


@pytest.mark.skipif(not SHARED_EXAMPLES.is_dir(), reason="no ../shared beside this clone")
@pytest.mark.parametrize("name", ["personas.jsonl", "personas.expected.md"])
def test_example_copy_matches_the_contract(name: str) -> None:
    assert (EXAMPLES / name).read_bytes() == (SHARED_EXAMPLES / name).read_bytes()
