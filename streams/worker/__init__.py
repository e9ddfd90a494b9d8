"""The worker: the Faust app, the scorer it runs per batch, its timers, offset checks, lag and metrics."""
