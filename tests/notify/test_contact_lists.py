"""名单: a list of people to greet uploaded as the county's staff save it (CSV in UTF-8 with a
BOM or in GBK, XLSX), each row checked before any is stored; a repeated phone kept once; a
list of 100,000 taken whole; a list removed with its people; a township kept to its own."""

from services.common.testing import count_rows
from services.notify.contacts.sheets import XLSX
from tests.notify.factories import (
    CONTACT_LISTS,
    CONTACTS,
    list_csv,
    list_xlsx,
    upload_list,
)

JINPING = "511529100000"  # 锦屏镇
JINPING_ONE = "511529100201"  # 锦屏一村
XINAN = "511529101000"  # 新安镇
OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
VILLAGERS = [
    ["张三", "13811112222", "", "否"],
    ["李四", "139 3333 4444", "511529100201", "是"],
    ["王五", "+8613755556666", "", ""],
    ["张三（重复）", "13811112222", "", "是"],
]


async def people_of(notify, list_id: str) -> dict[str, dict]:
    response = await notify.get(CONTACTS, params={"list_id": list_id, "limit": 500})
    return {p["name"]: p for p in response.json()["items"]}


async def test_a_csv_list_with_a_bom_becomes_contacts(notify, notify_db):
    response = await upload_list(notify, list_csv(VILLAGERS))

    assert response.status_code == 201, response.text
    uploaded = response.json()
    assert response.headers["location"] == f"{CONTACT_LISTS}/{uploaded['id']}"
    assert uploaded | {"id": None, "uploaded_by": None, "created_at": None} == {
        "id": None,
        "name": "锦屏一村外出务工人员",
        "region_code": JINPING_ONE,
        "size": 3,
        "duplicates": 1,
        "uploaded_by": None,
        "created_at": None,
    }
    people = await people_of(notify, uploaded["id"])
    assert {name: (p["phone"], p["away"]) for name, p in people.items()} == {
        "张三": ("13811112222", False),
        "李四": ("13933334444", True),
        "王五": ("13755556666", False),
    }
    assert {(p["kind"], p["region_code"], p["list_id"]) for p in people.values()} == {
        ("listed", JINPING_ONE, uploaded["id"])
    }
    stored = await notify.get(f"{CONTACT_LISTS}/{uploaded['id']}")
    assert stored.json() == {k: v for k, v in uploaded.items() if k != "duplicates"}
    assert await count_rows(notify_db, "contact", "phone_masked = '138****2222'") == 1
    audited = "action = 'notify.contact_list.uploaded'"
    assert await count_rows(notify_db, "audit_entry", audited) == 1


async def test_a_csv_saved_in_gbk_is_read(notify):
    content = list_csv(VILLAGERS[:2], encoding="gbk")

    response = await upload_list(notify, content, "text/csv; charset=gbk")

    assert response.status_code == 201, response.text
    assert set(await people_of(notify, response.json()["id"])) == {"张三", "李四"}


async def test_an_xlsx_list_with_english_headers_and_numbers_is_read(notify):
    rows = [
        ["赵六", 13866667777, JINPING_ONE, "yes", OPENID],
        ["钱七", "13888889999", None, 0, None],
    ]
    content = list_xlsx(rows, header=("name", "phone", "region_code", "away", "wechat_openid"))

    response = await upload_list(notify, content, XLSX, region_code=JINPING)

    assert response.status_code == 201, response.text
    people = await people_of(notify, response.json()["id"])
    zhao, qian = people["赵六"], people["钱七"]
    assert (zhao["phone"], zhao["region_code"], zhao["away"]) == ("13866667777", JINPING_ONE, True)
    assert (zhao["has_wechat"], zhao["channels"]) == (True, ["sms", "wechat"])
    assert (qian["region_code"], qian["away"], qian["has_wechat"]) == (JINPING, False, False)


async def test_invalid_rows_are_all_named_and_nothing_is_stored(notify, notify_db):
    rows = [
        ["张三", "13811112222", "", "否"],
        ["李四", "1381111222", "", "否"],  # row 3: ten digits
        ["", "13833334444", "511529101201", "也许"],  # row 4: no name, outside, not 是/否
        ["王五", "02812345678", "", ""],  # row 5: a landline
    ]

    response = await upload_list(notify, list_csv(rows))

    assert (response.status_code, response.json()["code"]) == (422, "contact_list_invalid")
    assert [e["field"] for e in response.json()["errors"]] == [
        "rows[3].phone",
        "rows[4].name",
        "rows[4].region_code",
        "rows[4].away",
        "rows[5].phone",
    ]
    assert "第 3 行" in response.json()["errors"][0]["message"]
    assert "1381111222" not in response.text and "02812345678" not in response.text
    assert await count_rows(notify_db, "contact_list") == 0
    assert await count_rows(notify_db, "contact") == 0


async def test_at_most_fifty_errors_are_listed(notify):
    rows = [["某人", "12345", "", ""]] * 80

    response = await upload_list(notify, list_csv(rows))

    assert response.status_code == 422
    assert len(response.json()["errors"]) == 50
    assert "80" in response.json()["detail"]


async def test_an_empty_list_or_a_list_without_its_columns_is_refused(notify, notify_db):
    header_only = await upload_list(notify, list_csv([]))
    blank_rows = await upload_list(notify, list_csv([["", "", "", ""]]))
    nothing = await upload_list(notify, b"")
    no_phone = await upload_list(notify, list_csv([["张三"]], header=("姓名",)))
    not_xlsx = await upload_list(notify, b"PK\x03\x04 not really", XLSX)
    not_text = await upload_list(notify, b"\xff\xfe\x00\xd8\x00\x00\xc0")

    for response in (header_only, blank_rows, nothing):
        assert (response.status_code, response.json()["code"]) == (422, "contact_list_empty")
    assert (no_phone.status_code, no_phone.json()["code"]) == (422, "contact_list_invalid")
    assert no_phone.json()["errors"] == [{"field": "columns.phone", "message": "缺少“手机号”列"}]
    for response in (not_xlsx, not_text):
        assert (response.status_code, response.json()["code"]) == (422, "contact_list_unreadable")
    assert await count_rows(notify_db, "contact_list") == 0


async def test_other_file_types_oversized_files_and_blank_names_are_refused(notify, notify_db):
    json_body = await upload_list(notify, b'{"name": "x"}', "application/json")
    too_large = await upload_list(notify, b"x" * (20 * 2**20 + 1))
    unnamed = await upload_list(notify, list_csv(VILLAGERS), name="  ")

    assert (json_body.status_code, json_body.json()["code"]) == (
        415,
        "contact_list_type_unsupported",
    )
    assert (too_large.status_code, too_large.json()["code"]) == (413, "contact_list_too_large")
    assert unnamed.status_code == 422
    assert await count_rows(notify_db, "contact_list") == 0


async def test_a_list_of_a_hundred_thousand_is_taken_and_one_more_is_refused(notify, notify_db):
    rows = [[f"村民{i}", f"138{i:08d}", "", "否"] for i in range(100_000)]

    taken = await upload_list(notify, list_csv(rows))
    refused = await upload_list(notify, list_csv([*rows, ["多一人", "13900000000", "", ""]]))

    assert taken.status_code == 201, taken.text
    assert taken.json()["size"] == 100_000
    assert (refused.status_code, refused.json()["code"]) == (422, "contact_list_too_many_rows")
    assert await count_rows(notify_db, "contact") == 100_000


async def test_a_list_is_removed_with_its_people(notify, notify_db):
    kept = (await upload_list(notify, list_csv(VILLAGERS[:1]), name="保留")).json()
    removed = (await upload_list(notify, list_csv(VILLAGERS))).json()

    response = await notify.delete(f"{CONTACT_LISTS}/{removed['id']}")

    assert response.status_code == 204
    assert (await notify.get(f"{CONTACT_LISTS}/{removed['id']}")).status_code == 404
    assert await count_rows(notify_db, "contact") == 1
    assert (await notify.get(f"{CONTACT_LISTS}/{kept['id']}")).status_code == 200
    assert await count_rows(notify_db, "audit_entry", "action = 'notify.contact_list.deleted'") == 1


async def test_a_township_uploads_reads_and_removes_only_its_own(notify, notify_db, issuer):
    officer = issuer.headers("township_officer", region_code=JINPING)
    ours = await upload_list(notify, list_csv(VILLAGERS[:1]), headers=officer)
    theirs = (await upload_list(notify, list_csv(VILLAGERS[:1]), region_code=XINAN)).json()

    one = list_csv(VILLAGERS[:1])
    elsewhere = await upload_list(notify, one, region_code=XINAN, headers=officer)
    outside_row = await upload_list(
        notify, list_csv([["张三", "13811112222", "511529101201", ""]]), headers=officer
    )
    listed = await notify.get(CONTACT_LISTS, headers=officer)
    read = await notify.get(f"{CONTACT_LISTS}/{theirs['id']}", headers=officer)
    deleted = await notify.delete(f"{CONTACT_LISTS}/{theirs['id']}", headers=officer)

    assert ours.status_code == 201, ours.text
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (403, "outside_scope")
    assert outside_row.json()["errors"][0]["field"] == "rows[2].region_code"
    assert [item["id"] for item in listed.json()["items"]] == [ours.json()["id"]]
    assert read.status_code == 404 and deleted.status_code == 404
    assert await count_rows(notify_db, "contact_list") == 2
