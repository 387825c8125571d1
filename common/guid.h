/* SPDX-License-Identifier: MIT */
/* Random (version 4, RFC 9562) GUIDs in their 36-character lower-case text form. */
#pragma once

/* Writes a new random GUID and its NUL into |out|. */
void sp_guid(char out[static 37]);
