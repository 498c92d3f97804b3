-- One database per service: each owns its schema and migrations.
CREATE DATABASE casebridge_identity;
CREATE DATABASE casebridge_consent;
CREATE DATABASE casebridge_referral;
CREATE DATABASE casebridge_audit;
CREATE DATABASE casebridge_partner;
