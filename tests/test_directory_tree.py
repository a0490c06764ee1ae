"""The directory layout: DNs, the service subtree, a group found by any of its addresses."""

from exchange_groups import directory_tree as tree


def test_service_subtree_and_group_found_by_address_or_alias(directory):
    with tree.connection() as conn:
        tree.ensure_service(conn, "hosted-ab12345-1", ["example.fr"])
        tree.ensure_service(conn, "hosted-ab12345-1", ["example.fr", "example.com"])
        dn = tree.group_dn("hosted-ab12345-1", "Equipe@Example.fr")
        conn.add_s(
            dn,
            [
                ("objectClass", [b"exgDistributionGroup"]),
                ("cn", [b"equipe"]),
                ("mail", [b"equipe@example.fr"]),
                ("mailLocalAddress", [b"team@example.fr"]),
            ],
        )
        assert tree.find_group(conn, "team@example.fr")[0] == dn
        assert tree.find_group(conn, "EQUIPE@example.fr")[0] == dn
        assert tree.find_group(conn, "nobody@example.fr") is None
    assert dn == f"mail=equipe@example.fr,ou=groups,ou=hosted-ab12345-1,{directory.base_dn}"
    service = directory.entry(tree.service_dn("hosted-ab12345-1"))
    assert service["associatedDomain"] == {"example.fr", "example.com"}
    assert directory.entry(tree.folder_dn("hosted-ab12345-1", "accounts")) is not None


def test_an_address_with_dn_special_characters_makes_a_valid_dn(directory):
    dn = tree.contact_dn("hosted-ab12345-1", "a+b,c@partner.com")
    assert tree.address_of(dn) == "a+b,c@partner.com"
    assert tree.same_dn(dn, dn.upper().replace("OU=", "ou="))
