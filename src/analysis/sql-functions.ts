/**
 * What the SQL analyzer knows about functions and procedures: the built-ins known to have
 * no side effects (a SELECT that calls anything else is not provably a read, so it counts as
 * `db.write`), and the ones that reach outside the database — the server's files, its
 * operating system, the network, other sessions.
 */

import type { Category } from '../core/categories.js';
import type { Risk } from '../core/risk.js';

export interface RoutineRule {
  category: Category;
  risk: Risk;
  what: string;
  /** The routine's first string argument is a path on the database server, read or written. */
  path?: 'read' | 'write' | 'delete';
  /** Also changes data (`lo_import` stores the file it reads). */
  write?: boolean;
}

const rule = (category: Category, risk: Risk, what: string, extra: Partial<RoutineRule> = {}): RoutineRule => ({ category, risk, what, ...extra });

const READ_FILE = (what: string, extra: Partial<RoutineRule> = {}) => rule('fs.read', 'high', what, { path: 'read', ...extra });
const WRITE_FILE = (what: string) => rule('fs.write', 'high', what, { path: 'write' });
const OS_COMMAND = (what: string) => rule('exec.remote_code', 'high', what);
const NETWORK = (what: string) => rule('net.egress', 'high', what);

/** Functions (called as `name(…)`) with effects outside the query's result. */
export const SIDE_EFFECT_FUNCTIONS: ReadonlyMap<string, RoutineRule> = new Map<string, RoutineRule>([
  ['pg_read_file', READ_FILE('reads a file on the database server')],
  ['pg_read_binary_file', READ_FILE('reads a file on the database server')],
  ['pg_stat_file', READ_FILE('inspects a file on the database server')],
  ['pg_ls_dir', READ_FILE('lists a directory on the database server')],
  ['load_file', READ_FILE('reads a file on the database server')],
  ['lo_import', READ_FILE('stores a file of the database server in the database', { write: true })],
  ['lo_export', WRITE_FILE('writes a file on the database server')],
  ['pg_file_write', WRITE_FILE('writes a file on the database server')],
  ['pg_file_rename', WRITE_FILE('renames a file on the database server')],
  ['pg_file_unlink', rule('fs.delete', 'high', 'deletes a file on the database server', { path: 'delete' })],
  ['writefile', WRITE_FILE('writes a file on the database server')],
  ['readfile', READ_FILE('reads a file on the database server')],
  ['sys_exec', OS_COMMAND('runs an operating-system command on the database server')],
  ['sys_eval', OS_COMMAND('runs an operating-system command on the database server')],
  ['load_extension', OS_COMMAND('loads native code into the database server')],
  ['dblink', NETWORK('connects from the database server to another server')],
  ['dblink_exec', rule('net.egress', 'high', 'runs a statement on another server', { write: true })],
  ['dblink_connect', NETWORK('connects from the database server to another server')],
  ['dblink_connect_u', NETWORK('connects from the database server to another server')],
  ['dblink_send_query', NETWORK('sends a query from the database server to another server')],
  ['openrowset', NETWORK('reads from another server or a file')],
  ['opendatasource', NETWORK('connects to another server')],
  ['openquery', NETWORK('runs a query on a linked server')],
  ['http_get', NETWORK('makes an HTTP request from the database server')],
  ['http_post', NETWORK('makes an HTTP request from the database server')],
  ['http_put', NETWORK('makes an HTTP request from the database server')],
  ['http_delete', NETWORK('makes an HTTP request from the database server')],
  ['http_patch', NETWORK('makes an HTTP request from the database server')],
  ['http_head', NETWORK('makes an HTTP request from the database server')],
  ['http_request', NETWORK('makes an HTTP request from the database server')],
  ['pg_terminate_backend', rule('proc.kill', 'high', 'terminates another database session')],
  ['pg_cancel_backend', rule('proc.kill', 'high', "cancels another session's query")],
  ['pg_reload_conf', rule('service.control', 'high', 'reloads the server configuration')],
  ['pg_rotate_logfile', rule('service.control', 'high', 'rotates the server log')],
  ['pg_promote', rule('service.control', 'high', 'promotes a standby server')],
  ['nextval', rule('db.write', 'low', 'advances a sequence')],
  ['setval', rule('db.write', 'low', 'sets a sequence')],
  ['lo_create', rule('db.write', 'low', 'creates a large object')],
  ['lo_unlink', rule('db.write', 'low', 'deletes a large object')],
  ['lo_put', rule('db.write', 'low', 'writes a large object')],
  ['lo_from_bytea', rule('db.write', 'low', 'creates a large object')],
  ['set_config', rule('db.write', 'low', 'changes a server setting')],
]);

/** Procedures (T-SQL `EXEC name`, a bare name, or `CALL name`) with effects outside the data. */
export const SIDE_EFFECT_PROCEDURES: ReadonlyMap<string, RoutineRule> = new Map<string, RoutineRule>([
  ['xp_cmdshell', OS_COMMAND('runs an operating-system command on the database server')],
  ['sp_oacreate', OS_COMMAND('creates an OLE automation object on the database server')],
  ['sp_oamethod', OS_COMMAND('calls an OLE automation object on the database server')],
  ['sp_execute_external_script', OS_COMMAND('runs an external script on the database server')],
  ['xp_dirtree', READ_FILE('lists a directory or network share from the database server')],
  ['xp_subdirs', READ_FILE('lists a directory from the database server')],
  ['xp_fileexist', READ_FILE('inspects a file on the database server')],
  ['xp_regread', rule('fs.read', 'high', 'reads the registry of the database server')],
  ['xp_regwrite', rule('fs.write_sensitive', 'high', 'writes the registry of the database server')],
  ['xp_regdeletekey', rule('fs.write_sensitive', 'high', 'deletes a registry key of the database server')],
  ['xp_regdeletevalue', rule('fs.write_sensitive', 'high', 'deletes a registry value of the database server')],
  ['sp_configure', rule('service.control', 'high', 'changes the server configuration')],
  ['sp_addextendedproc', OS_COMMAND('registers native code in the database server')],
  ['sp_addlinkedserver', NETWORK('adds a linked server')],
  ['sp_send_dbmail', NETWORK('sends mail from the database server')],
  ['xp_sendmail', NETWORK('sends mail from the database server')],
  ['sp_addsrvrolemember', rule('priv.escalate', 'high', 'adds a member to a server role')],
  ['sp_addrolemember', rule('priv.escalate', 'high', 'adds a member to a database role')],
  ['sp_addlogin', rule('priv.escalate', 'high', 'creates a login')],
  ['sp_adduser', rule('priv.escalate', 'high', 'creates a user')],
  ['sp_grantlogin', rule('priv.escalate', 'high', 'grants a login')],
  ['sp_grantdbaccess', rule('priv.escalate', 'high', 'grants database access')],
  ['sp_password', rule('priv.escalate', 'high', 'changes a password')],
  ['sp_changedbowner', rule('priv.escalate', 'high', 'changes the owner of a database')],
]);

/**
 * Built-in functions with no side effects, across PostgreSQL, MySQL, SQL Server, SQLite and
 * BigQuery, plus type names that appear as `name(…)` in casts. Anything else a SELECT calls
 * may be a user-defined function that writes.
 */
export const PURE_FUNCTIONS: ReadonlySet<string> = new Set(
  `
  count sum avg min max stddev stddev_pop stddev_samp variance var_pop var_samp every bool_and bool_or bit_and bit_or bit_xor
  array_agg string_agg group_concat json_agg jsonb_agg json_object_agg jsonb_object_agg json_arrayagg json_objectagg listagg
  percentile_cont percentile_disc mode median corr covar_pop covar_samp regr_slope regr_intercept any_value approx_count_distinct
  row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value nth_value grouping
  coalesce nullif ifnull isnull nvl nvl2 greatest least iif if choose decode
  cast try_cast convert try_convert safe_cast parse try_parse
  lower upper lcase ucase initcap length char_length character_length octet_length bit_length len datalength
  substr substring substring_index mid left right ltrim rtrim trim btrim lpad rpad concat concat_ws replace translate reverse
  repeat replicate space strpos position instr locate charindex patindex split_part split string_split format format_string
  quote_ident quote_literal quote_nullable to_char to_number to_date to_timestamp to_hex md5 sha1 sha2 sha256 sha512 crc32
  encode decode base64 to_base64 from_base64 hex unhex ascii chr char nchar unicode soundex difference levenshtein
  regexp_replace regexp_matches regexp_match regexp_like regexp_substr regexp_instr regexp_count regexp_split_to_array
  regexp_split_to_table regexp_extract regexp_contains starts_with ends_with contains_substr like glob printf quote
  abs ceil ceiling floor round trunc truncate mod power pow sqrt cbrt exp ln log log10 log2 sign pi degrees radians
  sin cos tan asin acos atan atan2 cot random rand div width_bucket gcd lcm factorial
  now current_date current_time current_timestamp localtime localtimestamp sysdate getdate getutcdate sysdatetime
  sysutcdatetime utc_timestamp utc_date utc_time curdate curtime clock_timestamp statement_timestamp transaction_timestamp
  date time datetime timestamp julianday strftime unixepoch date_part datepart date_trunc datetrunc extract date_add date_sub
  dateadd datediff date_diff timestampdiff timestampadd age make_date make_time make_timestamp make_interval justify_days
  justify_hours justify_interval year month day dayofweek dayofmonth dayofyear week weekday quarter hour minute second
  last_day monthname dayname from_unixtime unix_timestamp str_to_date date_format eomonth isdate isnumeric
  generate_series generate_subscripts unnest array_length array_upper array_lower array_position array_positions array_remove
  array_replace array_append array_prepend array_cat array_to_string string_to_array cardinality array_dims array_ndims
  json_build_object jsonb_build_object json_build_array jsonb_build_array to_json to_jsonb row_to_json array_to_json
  json_extract json_extract_path json_extract_path_text jsonb_extract_path jsonb_extract_path_text json_each jsonb_each
  json_each_text jsonb_each_text json_array_elements jsonb_array_elements json_array_elements_text jsonb_array_elements_text
  json_object_keys jsonb_object_keys json_typeof jsonb_typeof jsonb_set jsonb_insert jsonb_pretty jsonb_strip_nulls
  json_strip_nulls json_array_length jsonb_array_length json_value json_query json_object json_array json_contains
  json_unquote json_keys json_length json_valid isjson json_set json_insert json_replace json_remove json_type json_quote
  jsonb_path_query jsonb_path_exists jsonb_path_match json_group_array json_group_object openjson
  exists in any all some row array
  current_user session_user user current_schema current_schemas current_database current_catalog database schema version
  pg_backend_pid pg_postmaster_start_time pg_conf_load_time pg_is_in_recovery pg_current_wal_lsn pg_last_wal_receive_lsn
  pg_size_pretty pg_size_bytes pg_table_size pg_relation_size pg_total_relation_size pg_indexes_size pg_database_size
  pg_column_size pg_typeof pg_get_viewdef pg_get_indexdef pg_get_constraintdef pg_get_functiondef pg_get_triggerdef
  pg_get_expr pg_get_userbyid pg_get_serial_sequence pg_table_is_visible pg_encoding_to_char has_table_privilege
  has_schema_privilege has_database_privilege has_column_privilege has_function_privilege to_regclass obj_description
  col_description format_type txid_current_if_assigned inet_server_addr inet_server_port
  object_id object_name schema_name db_name db_id user_name suser_name suser_sname host_name serverproperty
  databasepropertyex objectproperty columnproperty scope_identity newid
  found_rows row_count last_insert_id connection_id
  char varchar nvarchar text numeric decimal float real double int integer bigint smallint tinyint bit binary varbinary
  datetime2 datetimeoffset smalldatetime interval uuid jsonb json bool boolean bytea money
  typeof total changes zeroblob randomblob likely unlikely iif
  `
    .split(/\s+/)
    .filter((s) => s !== ''),
);
