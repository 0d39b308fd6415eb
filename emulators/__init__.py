"""Local emulators of the calendar services Tandem talks to.

Each emulator is an ASGI app that keeps its state in memory and listens on
127.0.0.1 only, so tests and first-time users can run Tandem's provider code
without a network connection or a real account.
"""
