"""Provider webhooks (Twilio inbound + status, SendGrid events) and one-click unsubscribe."""
