-- q2, selection: the bids of a few auctions.
SELECT auction, price FROM bid WHERE auction % 123 = 0
