// MetastoreCatalog: the embedded default of Catalog, in the data directory's SQLite metastore
// (tables catalog_databases, catalog_tables, catalog_table_versions, catalog_files). A commit is one
// transaction: a reader sees a table before or after a crawl's change, never half of it.
#pragma once

#include "catalog/catalog.h"
#include "metastore/metastore.h"

namespace sluice::catalog {

class MetastoreCatalog : public Catalog {
 public:
  explicit MetastoreCatalog(metastore::Metastore& db) : db_(db) {}

  std::vector<std::string> databases() override;
  void create_database(const std::string& name) override;
  std::vector<TableInfo> tables(const std::string& database) override;
  std::optional<TableInfo> table(const std::string& database, const std::string& name) override;
  std::vector<TableVersion> versions(const std::string& database, const std::string& name) override;
  std::vector<PartitionInfo> partitions(const std::string& database, const std::string& name) override;
  std::vector<FileEntry> files(const std::string& database, const std::string& name) override;
  int commit(const TableUpdate& update) override;

 private:
  metastore::Metastore& db_;
};

}  // namespace sluice::catalog
