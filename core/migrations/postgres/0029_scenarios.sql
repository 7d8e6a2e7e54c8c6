-- Issue 18 §3: the application-scenario list and service guide (应用场景清单, 服务指南, seed 002):
-- what a relying party accepts the certificate for and how, maintained by its authority's
-- administrators and shown on the public page `/scenarios` once published.
ALTER TABLE relying_party ADD COLUMN scenario_published BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE relying_party ADD COLUMN scenario_services TEXT NOT NULL DEFAULT '';
ALTER TABLE relying_party ADD COLUMN scenario_guide TEXT NOT NULL DEFAULT '';
ALTER TABLE relying_party ADD COLUMN scenario_entry TEXT NOT NULL DEFAULT '';
CREATE INDEX relying_party_published ON relying_party (scenario_published, authority_id);
