"""The report: figures and the run's summary pages."""
