"""The filet launcher: the embedded default (PostgreSQL and a Kafka-protocol broker), `filet up`, the CLI."""
