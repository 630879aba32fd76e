"""What every part shares: settings, the clock, the application context, translations and their
catalogs, logging that hides secrets, rate limits, sent marks and the delivery of outbox results.
Imports only storage."""
