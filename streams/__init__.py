"""The I/O shell of healthscore: the Faust app, topics, tables, Redis, metrics and CLI."""
