"""How messages leave: channels other than the SMTP pool (SMS gateways)."""
