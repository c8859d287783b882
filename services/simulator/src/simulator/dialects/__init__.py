"""The dialects the simulator speaks, one desk each: GSMA MMAPI, MTN MoMo, Wave, Orange-style bulk files."""
