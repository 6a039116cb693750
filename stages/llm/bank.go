package llm

// bank holds the built-in answers used when the script gives none: natural
// assistant replies of one to four sentences, with the numbers,
// abbreviations and clauses that sentence aggregation must cope with. A
// response picks one with the session's random source.
var bank = [...]string{
	"Sure, I can help with that.",
	"It's about 18 degrees and partly cloudy right now. Expect light rain after 4 p.m., so you might want an umbrella.",
	"Your next meeting is with Dr. Patel at 10:30. It should take about half an hour.",
	"Got it! I've added milk, eggs, and coffee to your shopping list. Anything else?",
	"The Eiffel Tower is about 330 meters tall. It was finished in 1889 for the World's Fair in Paris, and for four decades it was the tallest structure in the world.",
	"Here's a quick one: boil the pasta for 9 minutes, toss it with olive oil and garlic, and finish with parmesan.",
	"I'm not sure I caught that. Could you say it again?",
	"A light-year is the distance light travels in one year, roughly 9.46 trillion kilometers. That's why we use it for the distances between stars. Even the closest one, Proxima Centauri, is about 4.2 light-years away.",
	"Okay, your alarm is set for 6:45 tomorrow morning.",
	"That's a great question. Most adults need seven to nine hours of sleep a night. Going to bed at the same time every day helps more than most people expect. Putting screens away an hour before bed helps too.",
	"Traffic looks heavy on the highway, so the drive will take about 35 minutes. If you leave now, you should get there just before noon.",
	"The exchange rate today is about 1.08 dollars per euro, so 200 euros comes to roughly 216 dollars.",
}
