/* ferry — who we are on the wire and in files. */
#ifndef FERRY_BASE_VERSION_H
#define FERRY_BASE_VERSION_H

#define FERRY_VERSION "0.1.0"

/* Implementation Class UID (PS3.7 D.3.3.2, PS3.10 7.1): a UUID-derived UID
 * (PS3.5 B.2) chosen once for ferry; the same in A-ASSOCIATE and in the
 * File Meta Information of every file ferry writes. */
#define FERRY_IMPLEMENTATION_CLASS_UID "2.25.176351203405114573055032507244710982882"
/* Implementation Version Name: at most 16 characters. */
#define FERRY_IMPLEMENTATION_VERSION "FERRY_0.1"

#endif
