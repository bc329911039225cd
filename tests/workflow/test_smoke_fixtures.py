from tests.conftest import login


def test_clerk_drafts_and_both_deans_visa_then_rector_signs(client, uni, make):
    a, b = make.student(uni.ga), make.student(uni.gb)
    order = make.order(uni.clerk, [a, b])
    login(client, uni.clerk)
    assert client.post(f"/orders/{order.id}/fire/submit").status_code == 302
    for dean in (uni.dean_a, uni.dean_b):
        login(client, dean)
        assert client.post(f"/orders/{order.id}/fire/approve").status_code == 302
    login(client, uni.rector)
    assert client.post(f"/orders/{order.id}/fire/sign").status_code == 302
    page = client.get(f"/students/{a.id}").get_data(as_text=True)
    assert "expelled" in page
