"""The admin API: master key only; keys are listed without their secrets."""


def test_admin_api_refuses_a_virtual_key(gateway, api_key):
    response = gateway.admin("GET", "/admin/keys", key=api_key)
    assert response.status_code == 403, response.text
    assert response.json()["error"]["type"] == "permission_error"
    response = gateway.admin("POST", "/admin/keys", key=api_key, json={"name": "sneaky"})
    assert response.status_code == 403, response.text


def test_admin_api_refuses_no_key(gateway):
    import httpx

    assert httpx.get(f"{gateway.base_url}/admin/keys", timeout=30).status_code == 401


def test_created_keys_are_listed_without_secrets(gateway, create_key):
    created = create_key(name="listed", models=["gpt-4o-mini"], rpm=10)
    response = gateway.admin("GET", "/admin/keys")
    assert response.status_code == 200, response.text
    listed = {key["id"]: key for key in response.json()["data"]}
    assert created["id"] in listed
    key = listed[created["id"]]
    assert key["name"] == "listed" and key["models"] == ["gpt-4o-mini"] and key["rpm"] == 10
    assert created["key"] not in response.text


def test_revoked_keys_leave_the_list(gateway, create_key):
    created = create_key()
    assert gateway.revoke_key(created["id"]).status_code == 200
    listed = [key["id"] for key in gateway.admin("GET", "/admin/keys").json()["data"]]
    assert created["id"] not in listed
    assert gateway.revoke_key("no-such-key").status_code == 404
