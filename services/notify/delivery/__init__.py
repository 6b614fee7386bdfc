"""投递: messages queued, sent within the providers' limits, retried, fallen back, receipted."""
