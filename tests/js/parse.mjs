// Parse an .ics file with ical.js (the parser inside Thunderbird) and print its events
// as JSON: uid, summary, start and end in UTC, sequence. Used by tests/ical/test_writer.py.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const text = readFileSync(process.argv[2], "utf8");
const calendar = new ICAL.Component(ICAL.parse(text));
for (const tz of calendar.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(tz);
}
const events = calendar.getAllSubcomponents("vevent").map((component) => {
  const event = new ICAL.Event(component);
  return {
    uid: event.uid,
    summary: event.summary,
    start: event.startDate.toJSDate().toISOString(),
    end: event.endDate.toJSDate().toISOString(),
    sequence: event.sequence,
  };
});
const name = calendar.getFirstPropertyValue("x-wr-calname");
console.log(JSON.stringify({ name, events }));
