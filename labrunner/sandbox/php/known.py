"""Names of real PHP functions, by extension, that the sandbox does not implement: calling one is
the sandbox's own fatal error ("does not implement"), never PHP's "undefined function", which
would be a lie on a real PHP; a function of an extension the image lacks is undefined there too."""

from __future__ import annotations

_KNOWN = {
    "standard": """
array_walk array_walk_recursive array_reduce array_search array_unique array_flip array_reverse array_combine
array_fill array_fill_keys array_pad array_splice array_diff array_diff_key array_diff_assoc array_intersect
array_intersect_key array_column array_chunk array_count_values array_product array_sum array_rand
array_replace array_key_first array_key_last array_is_list array_push array_pop array_shift array_unshift
shuffle usort uasort uksort krsort arsort natsort natcasesort array_multisort compact extract
current key next prev reset end str_pad str_split strrev strcmp strcasecmp strncmp strncasecmp strnatcmp
stripos strrpos strripos strstr stristr strrchr substr_count substr_replace ucwords wordwrap chunk_split
similar_text levenshtein soundex metaphone addslashes stripslashes quotemeta chr ord lcfirst nl2br
strip_tags html_entity_decode htmlspecialchars_decode get_html_translation_table bin2hex hex2bin base64_encode
base64_decode urlencode urldecode rawurlencode rawurldecode http_build_query parse_str parse_url md5 sha1 crc32
crypt password_hash password_verify hash hash_hmac random_bytes random_int serialize unserialize var_export
settype gettype get_debug_type is_callable is_iterable is_countable call_user_func call_user_func_array
func_get_args function_exists method_exists property_exists class_exists get_class get_object_vars
file fopen fclose fread fwrite fputs fgets feof file_put_contents unlink mkdir rmdir is_dir is_readable
is_writable scandir glob opendir readdir closedir realpath basename dirname pathinfo tempnam tmpfile touch
copy rename filesize filemtime fileperms chmod chown mail setcookie setrawcookie session_start session_destroy
session_id headers_sent headers_list header_remove ob_start ob_get_clean ob_end_clean ob_end_flush ob_get_contents
flush error_log trigger_error set_error_handler set_exception_handler restore_error_handler
register_shutdown_function debug_backtrace debug_print_backtrace assert ini_get set_time_limit ignore_user_abort
connection_status php_sapi_name php_ini_loaded_file memory_get_usage memory_get_peak_usage getmypid
gethostbyname gethostbynamel dns_get_record fsockopen stream_context_create exec shell_exec system passthru
proc_open popen escapeshellarg escapeshellcmd putenv vsprintf vprintf
fprintf sscanf str_word_count nl_langinfo localeconv setlocale number_format strtr substr_compare
ucfirst mt_srand srand mt_getrandmax getrandmax lcg_value fmod intdiv sqrt pow exp log log10 log2 sin cos tan
pi is_nan is_finite is_infinite base_convert bindec decbin hexdec dechex octdec decoct deg2rad rad2deg hypot
""",
    "date": "mktime gmdate strtotime checkdate date_create date_diff date_default_timezone_set "
            "date_default_timezone_get strftime gmmktime localtime getdate idate hrtime",
    "pcre": "preg_match preg_match_all preg_replace preg_replace_callback preg_split preg_quote preg_grep",
    "json": "json_last_error json_last_error_msg",
    "ctype": "ctype_digit ctype_alpha ctype_alnum ctype_upper ctype_lower ctype_space ctype_punct ctype_xdigit",
    "filter": "filter_var filter_input filter_has_var",
    "mbstring": "mb_strlen mb_substr mb_strtoupper mb_strtolower mb_strpos mb_str_split mb_convert_encoding "
                "mb_internal_encoding mb_str_pad",
    "curl": "curl_init curl_setopt curl_setopt_array curl_exec curl_close curl_error curl_errno curl_getinfo",
    "mysqli": "mysqli_prepare mysqli_stmt_bind_param mysqli_stmt_execute mysqli_stmt_get_result "
              "mysqli_stmt_close mysqli_set_charset mysqli_ping mysqli_begin_transaction mysqli_commit "
              "mysqli_rollback mysqli_multi_query mysqli_fetch_object mysqli_fetch_field mysqli_num_fields "
              "mysqli_get_server_info mysqli_get_host_info mysqli_stmt_fetch mysqli_stmt_bind_result "
              "mysqli_autocommit mysqli_character_set_name mysqli_data_seek mysqli_field_count",
    "gd": "imagecreate imagecreatetruecolor imagepng imagejpeg imagedestroy imagecolorallocate gd_info",
    "session": "session_start session_destroy session_id session_regenerate_id session_unset",
    "sodium": "sodium_crypto_secretbox sodium_crypto_box",
    "openssl": "openssl_encrypt openssl_decrypt openssl_random_pseudo_bytes",
}

_EXTENSION = {name: extension for extension, names in _KNOWN.items() for name in names.split()}


def extension_of(name: str) -> str | None:
    """The extension a real PHP function belongs to, or None for a name PHP does not have."""
    key = name.lower().lstrip("\\")
    if key in _EXTENSION:
        extension = _EXTENSION[key]
        # Compiled into the php images' binary: always present.
        if extension in ("date", "pcre", "json", "ctype", "filter", "mbstring", "curl", "session", "sodium",
                         "openssl"):
            return "standard"
        return extension
    if key.startswith("mysqli_"):
        return "mysqli"
    if key.startswith("pg_"):
        return "pgsql"
    return None
