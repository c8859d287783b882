"""Statement exports of what the simulator really did: camt.053, MT940 and the operator's bulk report CSV."""
