"""The Kafka and Redis plumbing both processes share (the worker, streams/; the notifier,
alerts/): settings, clients, retries, topics, logging, HTTP health. Nothing of the worker."""
