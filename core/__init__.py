"""Settings, the Temporal client factory and logging: what every process needs to start."""
