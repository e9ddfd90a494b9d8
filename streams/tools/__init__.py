"""What people run: the command line, the local stack, the demo, publishing, backtest and preview."""
