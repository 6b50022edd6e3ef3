package turing

import (
	"math"
	"math/rand/v2"
)

// humanAnswers are answers written the way people in a chat game answer
// the default prompts: short or rambling, any case, any punctuation, not
// always naming the topic. The stand-in human draws from them; they are
// not the robots' ideas.
var humanAnswers = map[string][]string{
	"What's your favorite memory?":                                       {"probably my 10th birthday at the lake", "Honestly? road trip with my best mate in uni, we got lost for 6 hours", "christmas morning at my grandparents, every year", "the day i got my dog!!"},
	"What's the worst gift you've ever received?":                        {"a mug that said world's okayest employee. from my boss", "used perfume lol", "A toilet brush. Wrapped.", "nothing, i'm grateful for everything (that's a lie, it was a scarf)"},
	"What did you have for breakfast today, honestly?":                   {"nothing yet", "2 coffees and a biscuit", "Eggs on toast, like a grown up", "crisps. don't judge me"},
	"What's a smell that instantly takes you back to childhood?":         {"playdoh", "Petrol stations, weirdly", "my mum's perfume, she still wears it", "wet dog and school dinners"},
	"What's the most embarrassing thing you did as a teenager?":          {"the entire year of 2009", "Fell off the stage at a school concert", "i had a fringe and an emo phase, that's all im saying", "texted my crush something meant for my friend"},
	"What's a small thing that made you happy this week?":                {"sun came out on tuesday", "Found my favourite pen", "my kid said thank you without being asked!", "a really good sandwich"},
	"What's the strangest job you've ever had?":                          {"hotel mystery shopper", "I washed golf balls for a summer", "sold christmas trees in july? dont ask", "handing out leaflets dressed as a hot dog"},
	"Which song do you know every single word of?":                       {"baby one more time", "Every Eminem song from 2002, unfortunately", "the whole of hamilton", "dancing queen obviously"},
	"What's the last thing you bought that you regret?":                  {"a 3 litre water bottle", "Air fryer. It's fine. I just don't use it", "shoes half a size too small", "a sofa that doesn't fit through the door"},
	"What's your go-to order at a takeaway?":                             {"katsu curry every time", "Large chips, cheese, gravy.", "whatever my partner is having", "chicken chow mein and prawn crackers"},
	"What's a hill you're willing to die on?":                            {"gifs are pronounced with a hard g", "Toilet roll goes over, not under.", "ketchup in the cupboard not the fridge", "dogs are better than cats, fight me"},
	"What did you want to be when you grew up?":                          {"a marine biologist", "Footballer, then I realised I was bad at football", "a spy lol", "vet, like every kid ever"},
	"What's the best advice anyone ever gave you?":                       {"sleep on it", "Don't compare your insides to other people's outsides", "always carry a spare phone charger", "my dad: 'measure twice, cut once'"},
	"What's the weirdest dream you remember?":                            {"i was a potato at a wedding", "My teeth fell out and turned into coins", "dreamt i could fly but only 2 feet off the ground", "my ex was a pigeon. that's it"},
	"Who was your favorite teacher, and why?":                            {"mr davies, he made history actually interesting", "Miss Ahmed because she never shouted", "my art teacher, she let us listen to music", "pe teacher who let me skip cross country"},
	"What's a food you hated as a kid but love now?":                     {"tomatoes", "Fish. Couldn't stand it, now I'd eat it every day", "onions!!", "beetroot, weirdly"},
	"What's the most useless talent you have?":                           {"i can burp the alphabet", "Remembering number plates", "i can touch my nose with my tongue", "knowing every premier league stadium"},
	"Describe your bedroom in one sentence.":                             {"chaos but cosy", "Fairy lights and laundry.", "a cave with a window", "minimalist because i'm too lazy to decorate"},
	"What's the last thing that made you laugh out loud?":                {"my cat falling off the windowsill", "A meme my sister sent me about tax", "my dad trying to use voice to text", "someone's autocorrect in the work chat"},
	"What's a rule your family had that other families didn't?":          {"no tv on sundays", "Dessert first on birthdays", "you had to ask to leave the table", "we had to say one good thing about our day at dinner"},
	"What's your most irrational fear?":                                  {"moths", "Sharks in swimming pools", "that i'll sneeze while driving", "clowns, but the nice ones"},
	"What was your first phone, and what did you do with it?":            {"motorola razr, just texted all day", "A Sony Ericsson. Dropped it in a lake", "blackberry, bbm with my mates", "nokia 3310, it's still alive somewhere"},
	"Where would you go if you could leave tomorrow, all expenses paid?": {"bali", "Peru, Machu Picchu has been on my list forever", "maldives and i'm not coming back", "tokyo tomorrow, bags already packed"},
	"What's the worst haircut you've ever had?":                          {"the 2012 undercut", "Bleached it myself. Orange.", "a mushroom cut my mum gave me", "skinhead at age 6 because of nits"},
	"What's something you're secretly proud of?":                         {"i've never been late to work", "I can solve a rubik's cube", "i quit smoking 3 years ago", "my sourdough starter is 2 years old"},
	"What's a movie you've watched way too many times?":                  {"the holiday", "Shrek. All of them.", "mamma mia", "the matrix, like 40 times"},
	"What's the best meal you've ever eaten?":                            {"my nans sunday dinner", "A steak in Buenos Aires, still think about it", "pizza in naples", "fish tacos on holiday in mexico"},
	"What would you name a boat if you had one?":                         {"Boaty McBoatface obviously", "the salty dog", "Usually Wet", "my ex's name so i can sink it"},
	"What's the first thing you do when you get home?":                   {"put the kettle on", "Trackies on immediately", "say hi to the dog", "snack"},
	"What's a habit you've been trying to break?":                        {"doomscrolling", "Cracking my knuckles", "saying 'like' every other word", "eating in bed"},
	"What's your earliest memory?":                                       {"a bee sting when i was 3", "Being in a pushchair at the seaside", "my brother being born", "dropping an ice cream"},
	"What's the most trouble you got into at school?":                    {"suspended for a food fight", "Got caught forging a sick note", "detention for talking, like always", "put glitter in the teacher's coffee"},
	"What's a compliment you still remember?":                            {"'you're really easy to talk to'", "Someone said I had great taste in music", "a nurse told me i was brave", "my gran said i had nice hands"},
	"What's your comfort TV show when you're sick?":                      {"brooklyn 99", "Parks and Rec", "old top gear", "great british bake off"},
	"What's the longest you've ever been awake, and why?":                {"48 hours, exams", "About 30 hours travelling to Australia", "all night at a house party, then work", "newborn twins, so... years"},
	"What's something everyone loves that you just don't get?":           {"harry potter", "Christmas markets", "marvel films", "running for fun??"},
	"If your pet could talk, what would it complain about?":              {"the vacuum", "Me leaving for work", "the cat would complain about the other cat", "not enough treats, constantly"},
	"What's the weirdest thing in your fridge right now?":                {"film for my camera", "A single pickled onion", "batteries", "a potato with sprouts on it"},
	"What's a word you always misspell?":                                 {"definately", "Business", "tommorow", "embarrassed, ironically"},
	"What's the best thing about the place you grew up?":                 {"the hills", "Cheap chips", "the beach was 5 mins away", "nothing happened so you had to make your own fun"},
	"What's the most spontaneous thing you've ever done?":                {"moved to berlin with a week's notice", "Bought a car I saw on facebook that morning", "jumped in the sea in january", "booked a holiday at the airport"},
	"What game did you play most as a kid?":                              {"crash bandicoot", "British bulldog in the playground", "monopoly with my cousins, always ended in a fight", "runescape"},
	"What's your worst cooking disaster?":                                {"burnt water. somehow", "Christmas turkey still frozen in the middle", "made scrambled eggs in a non non stick pan", "set off every smoke alarm making toast"},
	"What would your perfect Sunday look like?":                          {"sleep till 11, brunch, nap", "A long run then pub lunch", "nothing. absolutely nothing", "beach walk with the dog and a roast after"},
	"What's a piece of technology you refuse to use?":                    {"alexa", "Apple Pay", "tiktok", "anything with bluetooth in the kitchen"},
	"What's the kindest thing a stranger has done for you?":              {"gave me a lift when my car broke down", "Paid for my coffee", "walked me home when i was lost", "someone lent me a tenner for the train"},
	"What's the last photo on your phone?":                               {"my lunch", "A screenshot of a recipe", "my dog sleeping", "receipt for expenses"},
	"What's a tradition you'd like to start?":                            {"a yearly camping trip", "Pizza night every Friday", "family quiz on christmas", "a walk every sunday with friends"},
}

// fallbackHumanAnswers are for a prompt the corpus does not know.
var fallbackHumanAnswers = []string{"hmm good one, no idea", "Probably my family", "idk lol", "that's a tough one tbh", "Pass!"}

// standIn is a simulated human player. Its timing is its own model of a
// person (not the robots' prior): starts typing after a reaction time plus
// an exponential wait, then writes at a pace around 35% of the window;
// sometimes gets distracted and never types, sometimes types and stops.
type standIn struct {
	rng  *rand.Rand
	used map[string]bool
}

func (h *standIn) answer(prompt string) string {
	pool := humanAnswers[prompt]
	if len(pool) == 0 {
		pool = fallbackHumanAnswers
	}
	for range 8 {
		if a := pool[h.rng.IntN(len(pool))]; !h.used[a] {
			h.used[a] = true
			return a
		}
	}
	return pool[h.rng.IntN(len(pool))]
}

// timing returns ms from the round's start of the first typing and the
// answer; -1 for never.
func (h *standIn) timing(windowMs int64) (typing, answer int64) {
	w := float64(windowMs)
	if h.rng.Float64() < 0.05 { // distracted: never types
		return -1, -1
	}
	t := 1200 + h.rng.ExpFloat64()*0.12*w
	a := t + math.Max(1500, w*(0.33+0.12*h.rng.NormFloat64()))
	if t >= w-1500 {
		return -1, -1
	}
	if a >= w-1500 {
		return int64(t), -1 // typed, ran out of time
	}
	return int64(t), int64(a)
}

func (h *standIn) voteDelay(windowMs int64) int64 {
	return int64(math.Min(float64(windowMs)-2000, 1500+h.rng.ExpFloat64()*0.2*float64(windowMs)))
}
