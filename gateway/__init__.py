"""The ingestion gateway (`leadtemp gateway`): events over HTTP, in the contract's shape (and,
in time, in the shapes the tools teams run send), onto the input topics; a request is
answered 2xx only once Kafka acknowledged every event of it."""
