"""督查: spot checks (明察暗访), conduct supervisors' reports (驻村风气监督员) and the contact
leaders' heart-to-heart talks with the cadres (谈心谈话)."""
