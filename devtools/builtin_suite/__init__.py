"""The built-in evaluation suite: hand-written scenario templates with parameter variation.

Every scenario here was written by the tierzero developers. Nothing comes from a real
organization: the company is the fictional Northwind Logistics (internal domain
``northwind.example``, the default ``config/organization.yaml``), people and hosts are invented,
IP addresses come from the documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24)
or private ranges, and every outside domain ends in ``.example``. Each vendor record is shaped
like the files in ``examples/`` (which follow each vendor's published schema), so it is read by
the same adapters as real data.

A template is one story (an intrusion, or a benign event that looks like one) written as a
function. It is run once per variant with its own seeded random generator, which picks the
people, hosts, addresses, hashes, times and counts, so variants of a story differ in their
details but never in what the story *is*. The truth of each scenario (its cases, verdicts,
ATT&CK techniques, evidence, the actions a good SOC would take and those it must never take)
follows from the story by construction; it is never read back from what tierzero outputs.

The environment every scenario shares (``dataset.json``) is the inventory of
``config/inventory/`` with more staff, servers and cloud instances; what belongs to one story
(a change window, a penetration tester's address, an indicator, a new hire) is in that
scenario's own environment. Scenarios never depend on the configured inventory.

Templates (category, variants):

credential_abuse (29 scenarios)
    mfa_fatigue (5, 1 hard), password_spray (5), ssh_brute_force (4),
    token_theft_inbox_rule (4, 1 hard), kerberoasting (4), admin_night_lsass_dump (3, hard),
    breakglass_guessing (4)
malware_execution (30 scenarios)
    script_dropper (5), office_macro (4, 1 hard), ransomware_precursor (3),
    linux_cryptominer (4), lolbin_persistence (4), test_asset_infection (3, hard),
    edr_blocked_download (4), malware_among_noise (3, hard)
lateral_movement (26 scenarios)
    psexec_stolen_credentials (5), wmi_remote_execution (4), rdp_pivot (4),
    pass_the_hash_dc (4), admin_night_psexec (3, hard), smb_worm_spread (3),
    rdp_among_admin_noise (3, hard)
data_exfiltration (27 scenarios)
    c2_bulk_upload (4), rclone_cloud_upload (4), dns_tunnel (4),
    low_and_slow_upload (4, hard), s3_stolen_key (4), departing_insider (4),
    database_dump_scp (3)
phishing (26 scenarios)
    credential_link (5), attachment_payload (4), executive_impersonation (4),
    campaign_many_recipients (4), oauth_consent (3), phish_among_newsletters (3, hard),
    qr_code_aitm (3, hard)
cloud_abuse (28 scenarios)
    ec2_cryptomining (4), iam_key_malicious_caller (4),
    instance_credential_exfiltration (4), cloudtrail_disabled (3),
    okta_admin_escalation (4), ec2_ssh_then_c2 (3), dev_account_cryptomining (3, hard),
    c2_among_port_probes (3, hard)
benign_lookalike (54 scenarios)
    approved_scanner_sweep (5), patching_in_window (5), approved_pentest (5, 2 hard),
    admin_psexec_at_work (4, hard), user_travelling (4, hard),
    signed_updater_flagged (4, hard), backup_job (4, 1 hard), admin_rdp_at_work (4),
    build_server_encoded_powershell (3, 1 hard), internet_port_probes (5),
    newsletter_flagged (4), routine_noise (3), ad_group_change (4)

The package is a developer tool, not part of the installed ``tierzero``: the runtime reads only
the JSON it writes. From the repository root, ``python -m devtools.builtin_suite`` rewrites
``tierzero/evals/datasets/builtin/``; the same seed always gives byte-identical files, and a unit
test keeps the committed files in step with this package.

Modules: :mod:`.story` (a scenario being written, the template registry), :mod:`.scenes`
(records several stories share), one or two modules of templates per category, and
:mod:`.suite` (building, rendering and writing the files). The records themselves come from
:mod:`devtools.vendor_records`, the company from :mod:`devtools.northwind`.
"""
