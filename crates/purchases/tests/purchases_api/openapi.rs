//! The OpenAPI document served by the service.

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_document_is_openapi_3_1_and_lists_the_handlers() {
    let app = spawn_app().await;
    let doc = app.get("/openapi.json").await;
    assert_eq!(doc.status, 200);
    let doc = doc.body;
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string());
    let expected = [
        ("/api/v1/purchases", "post"),
        ("/api/v1/purchases/{id}", "get"),
        ("/purchase", "post"),
    ];
    for (path, method) in expected {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing"
        );
    }
    let create = &doc["paths"]["/api/v1/purchases"]["post"];
    assert_eq!(
        create["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/PurchaseRequest"
    );
    assert_eq!(
        create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Receipt"
    );
    assert!(create["responses"]["422"]["content"]["application/problem+json"].is_object());
    assert!(
        create["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header")
    );
    for schema in [
        "PurchaseRequest",
        "SeedPurchaseRequest",
        "Receipt",
        "ReceiptItem",
        "Problem",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema} missing"
        );
    }
    let receipt = &doc["components"]["schemas"]["Receipt"]["properties"];
    for field in [
        "purchase_id",
        "branch_id",
        "customer_id",
        "purchased_at",
        "items",
        "total_cents",
        "total",
    ] {
        assert!(receipt[field].is_object(), "Receipt.{field} missing");
    }
    let docs = app
        .http
        .get(format!("{}/docs/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
}

/// The rules of a request's shape are in the schema, so that a client (or a
/// fuzzer) can tell a well-formed sale from a malformed one: only the
/// catalog rules (unknown branch or product, one product spelled twice) are
/// left to a 422 on a schema-valid request.
#[tokio::test]
async fn the_document_states_the_shape_rules_and_access() {
    let app = spawn_app().await;
    let doc = app.get("/openapi.json").await.body;
    let schemas = &doc["components"]["schemas"];

    let request = &schemas["PurchaseRequest"]["properties"];
    assert_eq!(
        request["branch_id"]["pattern"],
        supermarket_domain::branch::BRANCH_ID_PATTERN
    );
    assert_eq!(
        request["customer_id"]["pattern"],
        supermarket_domain::purchase::CUSTOMER_ID_PATTERN
    );
    assert_eq!(request["items"]["minItems"], 1);
    assert_eq!(request["items"]["uniqueItems"], true);
    let seed = &schemas["SeedPurchaseRequest"]["properties"];
    assert_eq!(
        seed["supermarket_id"]["pattern"],
        supermarket_domain::branch::BRANCH_ID_PATTERN
    );
    assert_eq!(
        seed["user_id"]["pattern"],
        supermarket_domain::purchase::CUSTOMER_ID_PATTERN
    );
    assert_eq!(
        schemas["ProductName"]["pattern"],
        supermarket_domain::catalog::PRODUCT_NAME_PATTERN
    );
    assert_eq!(schemas["ProductName"]["minLength"], 1);
    let line = &schemas["BasketItem"]["oneOf"][2]["properties"]["quantity"];
    assert_eq!(
        (&line["minimum"], &line["maximum"]),
        (&serde_json::json!(1), &serde_json::json!(1))
    );
    assert_eq!(schemas["SeedItems"]["oneOf"][0]["minItems"], 1);
    assert_eq!(schemas["SeedItems"]["oneOf"][1]["pattern"], "[^,\\s]");

    // A header is absent or a string, never `null` (found by schemathesis,
    // which sent the text `null` and got a 400 for a schema-valid request).
    for path in ["/api/v1/purchases", "/purchase"] {
        let key = &doc["paths"][path]["post"]["parameters"][0];
        assert_eq!(key["name"], "Idempotency-Key");
        assert_eq!(key["required"], false);
        assert_eq!(
            key["schema"],
            serde_json::json!({"type": "string", "format": "uuid"}),
            "{path}"
        );
    }

    // Every operation needs the cashier's token (or the owner's, which is
    // never refused: no 403) and says so.
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for (path, method) in [
        ("/api/v1/purchases", "post"),
        ("/purchase", "post"),
        ("/api/v1/purchases/{id}", "get"),
    ] {
        let operation = &doc["paths"][path][method];
        assert_eq!(
            operation["security"],
            serde_json::json!([{"bearer": []}]),
            "{method} {path}"
        );
        assert!(
            operation["responses"]["401"].is_object() && operation["responses"]["429"].is_object(),
            "{method} {path}"
        );
        assert!(
            operation["responses"].get("403").is_none(),
            "{method} {path}"
        );
    }
    // Reading a receipt goes to the database, which may be down.
    assert!(doc["paths"]["/api/v1/purchases/{id}"]["get"]["responses"]["503"].is_object());
}
