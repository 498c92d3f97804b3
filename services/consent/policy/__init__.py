"""The policy core: pure, HTTP-free and database-free rules for consents, objections,
agreements and the sharing decision. The service layer loads terms and calls `decide`."""
