"""Pure functions from bytes to contacts.  No I/O and no scapy in this package."""
