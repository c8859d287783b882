"""Vendors' voucher redemption reports (what each trader says it redeemed), read into one canonical shape."""
