// Athena's metadata and work-group operations (internal to the Athena service): the catalog as Athena
// shows it (ListDataCatalogs, GetDataCatalog, ListDatabases, GetDatabase, ListTableMetadata,
// GetTableMetadata) and the one work group, "primary" (ListWorkGroups, GetWorkGroup), which tools
// such as awswrangler read for the result location.
#pragma once

#include <string>

#include "catalog/catalog.h"
#include "server/router.h"

namespace sluice::aws {

// Registers those operations on `group`. `data_catalog` must outlive the group's routes;
// `default_output` is the work group's result location ("s3://bucket/prefix/", or "" for none).
void add_athena_metadata_routes(server::RouteGroup& group, catalog::Catalog& data_catalog,
                                std::string default_output);

}  // namespace sluice::aws
