"""Local development services: a real Kafka broker and Redis as local processes (no Docker
needed), and `leadtemp demo`, which runs the whole pipeline on them."""
