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
        ("/api/v1/products", "get"),
        ("/api/v1/branches", "get"),
    ];
    for (path, method) in expected {
        assert!(doc["paths"][path][method].is_object(), "{method} {path} missing");
    }
    let create = &doc["paths"]["/api/v1/purchases"]["post"];
    assert_eq!(create["requestBody"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/PurchaseRequest");
    assert_eq!(create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Receipt");
    assert!(create["responses"]["422"]["content"]["application/problem+json"].is_object());
    assert!(create["parameters"].as_array().unwrap().iter().any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"));
    for schema in ["PurchaseRequest", "SeedPurchaseRequest", "Receipt", "ReceiptItem", "Problem", "ProductView", "BranchView"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "schema {schema} missing");
    }
    let receipt = &doc["components"]["schemas"]["Receipt"]["properties"];
    for field in ["purchase_id", "branch_id", "customer_id", "purchased_at", "items", "total_cents", "total"] {
        assert!(receipt[field].is_object(), "Receipt.{field} missing");
    }
    let docs = app.http.get(format!("{}/docs/", app.base)).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
}
