"""Pure rules of payments: schemes, references, the payment and voucher state machines. No framework, no I/O."""
