"""One Protocol per channel, and the adapters behind them (outbox now; SendGrid and Twilio next)."""
