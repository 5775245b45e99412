"""`checkin demo`: the whole loop on loopback servers with a sample practice and simulated
clients. servers.py runs SMTP and IMAP, clients.py plays the clients, sample.py writes the
practice file, run.py moves the clock, progress.py and output.py say and keep what happened."""


class DemoSetupError(RuntimeError):
    """Something the demo needs is missing; the message says how to get it."""
