"""SendGrid: email out (`adapter`, the SDK) and its signed Event Webhook (`webhook`, no SDK)."""
