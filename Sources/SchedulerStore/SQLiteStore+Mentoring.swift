import Foundation
import GRDB
import SchedulerCore

/// Mentor sessions on SQLite. Mentor sessions and counsellor sessions take the same young
/// people's time, so every mentoring change bumps the site's row of `counselling_version` in its
/// transaction, as counselling changes do; SQLite runs one write at a time, so `saveMentorBatch`
/// checks the version and writes with nothing between.
extension SQLiteStore {
    static func registerMentoringMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v7-mentoring") { db in
            try db.execute(
                sql: """
                    CREATE TABLE mentor (
                        id TEXT PRIMARY KEY,
                        site_id TEXT NOT NULL REFERENCES site(id),
                        fields TEXT NOT NULL,
                        data TEXT NOT NULL
                    );
                    CREATE INDEX mentor_site ON mentor(site_id);
                    CREATE TABLE mentor_batch (
                        id TEXT PRIMARY KEY,
                        site_id TEXT NOT NULL REFERENCES site(id),
                        input_digest BLOB NOT NULL,
                        answer BLOB NOT NULL,
                        created_at_ms INTEGER NOT NULL
                    );
                    CREATE INDEX mentor_batch_site ON mentor_batch(site_id);
                    CREATE TABLE mentor_session (
                        id TEXT PRIMARY KEY,
                        site_id TEXT NOT NULL REFERENCES site(id),
                        mentor_id TEXT NOT NULL REFERENCES mentor(id),
                        young_person_id TEXT NOT NULL REFERENCES young_person(id),
                        batch_id TEXT REFERENCES mentor_batch(id),
                        day INTEGER NOT NULL,
                        start_minute INTEGER NOT NULL,
                        minutes INTEGER NOT NULL,
                        status TEXT NOT NULL,
                        sequence INTEGER NOT NULL
                    );
                    CREATE INDEX mentor_session_site ON mentor_session(site_id, day);
                    CREATE INDEX mentor_session_mentor ON mentor_session(mentor_id, day);
                    CREATE INDEX mentor_session_young_person ON mentor_session(young_person_id, day);
                    CREATE INDEX mentor_session_batch ON mentor_session(batch_id);
                    """)
        }
    }
}
