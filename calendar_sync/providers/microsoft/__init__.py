"""Microsoft 365 calendars through Microsoft Graph, with msal for tokens and O365.

`GraphProvider` (in `provider`) implements the provider contract for one
mailbox. `auth` gets tokens, `graph` sends every Graph request, `mapping`
turns Graph events into Tandem's model, and `subscriptions` manages change
notifications.
"""
