"""联系人: who notify reaches and how, learned from the event log and uploaded lists."""
