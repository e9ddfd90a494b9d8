"""The wire contract of healthscore: inbound events, outputs and their shared types."""
