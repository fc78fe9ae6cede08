//! Serving an OpenAPI 3.1 document at `/openapi.json` and Swagger UI at
//! `/docs` (vendored assets: works offline), and the touches every
//! service's document gets: parameters that are never `null`, and the
//! bearer-token security of guarded operations.

use axum::Router;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::schema::{Object, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder, Schema,
};
use utoipa_swagger_ui::SwaggerUi;

use crate::problem::PROBLEM_JSON;

/// The `/openapi.json` and `/docs` routes for `document`, with
/// [`non_null_parameters`] applied.
pub fn routes<S>(mut document: OpenApi) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    non_null_parameters(&mut document);
    Router::from(SwaggerUi::new("/docs").url("/openapi.json", document))
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .flatten()
}

/// An optional header or query parameter is absent or a string: HTTP has no
/// `null`. utoipa describes `Option<T>` parameters as `type: [T, "null"]`,
/// which invites clients (and fuzzers) to send the text `null`; this keeps
/// only `T` (the parameter stays optional through `required: false`).
pub fn non_null_parameters(document: &mut OpenApi) {
    for item in document.paths.paths.values_mut() {
        for operation in operations_mut(item) {
            for parameter in operation.parameters.iter_mut().flatten() {
                if let RefOr::T(parameter) = parameter
                    && let Some(RefOr::T(Schema::Object(object))) = &mut parameter.schema
                {
                    drop_null(object);
                }
            }
        }
    }
}

fn drop_null(object: &mut Object) {
    if let SchemaType::Array(types) = &object.schema_type {
        let kept: Vec<Type> = types
            .iter()
            .filter(|t| **t != Type::Null)
            .cloned()
            .collect();
        object.schema_type = match kept.as_slice() {
            [single] => SchemaType::Type(single.clone()),
            _ => SchemaType::Array(kept),
        };
    }
}

/// The name of the security scheme [`require_bearer`] declares.
pub const BEARER_SCHEME: &str = "bearer";

/// Declares that every operation of `document` except those on `open_paths`
/// needs `Authorization: Bearer <token>` of `role`: the `bearer` security
/// scheme, the operation's security requirement, and the answers of the
/// access layer — 401 (no or unknown credentials), 403 (a role that may not,
/// when `forbidden_possible`) and 429 (too many failed attempts, with
/// `Retry-After`) — as problem documents.
pub fn require_bearer(
    document: &mut OpenApi,
    role: &str,
    open_paths: &[&str],
    forbidden_possible: bool,
) {
    let scheme = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .description(Some(format!(
            "The {role} token (OWNER_TOKEN or CASHIER_TOKEN; the owner may do everything a cashier may). \
             A session cookie from /auth/login works too. Unless the service runs with AUTH_MODE=open."
        )))
        .build();
    let components = document
        .components
        .get_or_insert_with(|| ComponentsBuilder::new().build());
    components.security_schemes.insert(
        BEARER_SCHEME.to_owned(),
        RefOr::T(SecurityScheme::Http(scheme)),
    );
    let problem = || {
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build()
    };
    let string = || Object::with_type(Type::String);
    let unauthorized = ResponseBuilder::new()
        .description("No credentials, or a token that matches no role")
        .header(
            "WWW-Authenticate",
            HeaderBuilder::new().schema(Some(string())).build(),
        )
        .content(PROBLEM_JSON, problem())
        .build();
    let forbidden = ResponseBuilder::new()
        .description(format!("Valid credentials of a role that is not {role}"))
        .content(PROBLEM_JSON, problem())
        .build();
    let too_many = ResponseBuilder::new()
        .description("Too many failed authentication attempts from this client (see Retry-After)")
        .header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Some(Object::with_type(Type::Integer)))
                .build(),
        )
        .content(PROBLEM_JSON, problem())
        .build();
    for (path, item) in document.paths.paths.iter_mut() {
        if open_paths.contains(&path.as_str()) {
            continue;
        }
        for operation in operations_mut(item) {
            operation.security = Some(vec![SecurityRequirement::new(
                BEARER_SCHEME,
                Vec::<String>::new(),
            )]);
            let responses = &mut operation.responses.responses;
            responses
                .entry("401".to_owned())
                .or_insert_with(|| RefOr::T(unauthorized.clone()));
            if forbidden_possible {
                responses
                    .entry("403".to_owned())
                    .or_insert_with(|| RefOr::T(forbidden.clone()));
            }
            responses
                .entry("429".to_owned())
                .or_insert_with(|| RefOr::T(too_many.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[derive(utoipa::OpenApi)]
    #[openapi(paths(guarded, open))]
    struct Doc;

    /// A guarded operation.
    #[utoipa::path(get, path = "/guarded", params(("Key" = Option<String>, Header, format = Uuid)),
        responses((status = 200, description = "ok")))]
    #[allow(dead_code)]
    fn guarded() {}

    /// An open operation.
    #[utoipa::path(get, path = "/open", params(("limit" = Option<i64>, Query)), responses((status = 200, description = "ok")))]
    #[allow(dead_code)]
    fn open() {}

    fn json_of(document: &OpenApi) -> Value {
        serde_json::to_value(document).unwrap()
    }

    #[test]
    fn optional_parameters_are_never_null() {
        use utoipa::OpenApi as _;
        let mut document = Doc::openapi();
        assert_eq!(
            json_of(&document)["paths"]["/guarded"]["get"]["parameters"][0]["schema"]["type"],
            json!(["string", "null"])
        );
        non_null_parameters(&mut document);
        let doc = json_of(&document);
        let key = &doc["paths"]["/guarded"]["get"]["parameters"][0];
        assert_eq!(key["schema"], json!({"type": "string", "format": "uuid"}));
        assert_eq!(key["required"], false);
        assert_eq!(
            doc["paths"]["/open"]["get"]["parameters"][0]["schema"]["type"],
            "integer"
        );
    }

    #[test]
    fn guarded_operations_declare_the_bearer_scheme_and_the_access_answers() {
        use utoipa::OpenApi as _;
        let mut document = Doc::openapi();
        require_bearer(&mut document, "owner", &["/open"], true);
        let doc = json_of(&document);
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        let guarded = &doc["paths"]["/guarded"]["get"];
        assert_eq!(guarded["security"], json!([{"bearer": []}]));
        for status in ["401", "403", "429"] {
            assert_eq!(
                guarded["responses"][status]["content"][PROBLEM_JSON]["schema"]["$ref"],
                "#/components/schemas/Problem",
                "{status}"
            );
        }
        assert!(guarded["responses"]["429"]["headers"]["Retry-After"].is_object());
        let open = &doc["paths"]["/open"]["get"];
        assert!(open.get("security").is_none());
        assert!(open["responses"].get("401").is_none());
    }
}
