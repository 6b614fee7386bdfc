"""What notify publishes: notify.message.sent/delivered/failed come with the notify issue."""
