import { randomInt } from 'node:crypto';

// Prefect names runs with two random words (`coolname`): an adjective and an animal, e.g. "crimson-tortoise".
const ADJECTIVES = [
  'adaptable', 'adorable', 'agile', 'amber', 'amiable', 'amusing', 'ancient', 'arrogant', 'artful', 'ashen',
  'athletic', 'awesome', 'bald', 'beautiful', 'benevolent', 'bizarre', 'blond', 'blue', 'bold', 'brave',
  'bright', 'brilliant', 'bronze', 'busy', 'calm', 'capable', 'careful', 'certain', 'charming', 'cheerful',
  'chestnut', 'classic', 'clever', 'cobalt', 'colorful', 'cooperative', 'copper', 'courageous', 'crafty', 'crimson',
  'curious', 'cute', 'daft', 'dancing', 'dark', 'dashing', 'dazzling', 'delicate', 'devious', 'diligent',
  'discerning', 'dramatic', 'eager', 'earnest', 'economic', 'elegant', 'emerald', 'energetic', 'enigmatic', 'exotic',
  'fabulous', 'fancy', 'fearless', 'festive', 'fiery', 'flawless', 'fluffy', 'friendly', 'funky', 'fuzzy',
  'gainful', 'gallant', 'gentle', 'giga', 'glittering', 'golden', 'graceful', 'granite', 'gray', 'green',
  'happy', 'hilarious', 'honest', 'humongous', 'icy', 'imported', 'impressive', 'industrious', 'invisible', 'jade',
  'jolly', 'jovial', 'khaki', 'kind', 'laughing', 'lavender', 'lilac', 'loud', 'lucky', 'magenta',
  'magnetic', 'majestic', 'maroon', 'merciful', 'meteoric', 'mighty', 'modest', 'mustard', 'mysterious', 'natural',
  'nifty', 'nimble', 'noble', 'nondescript', 'olive', 'omniscient', 'orange', 'outgoing', 'pastel', 'peach',
  'pearl', 'persimmon', 'pink', 'placid', 'polite', 'precious', 'proficient', 'quick', 'quiet', 'quixotic',
  'radical', 'rainbow', 'rapid', 'resolute', 'righteous', 'robust', 'rose', 'ruby', 'rustic', 'sage',
  'sandy', 'sapphire', 'scarlet', 'shiny', 'silver', 'smart', 'snobbish', 'spectacular', 'spiffy', 'steady',
  'stoic', 'sturdy', 'sudden', 'tan', 'teal', 'tentacled', 'terracotta', 'thankful', 'tidy', 'tiny',
  'turquoise', 'ultramarine', 'uncovered', 'unique', 'vagabond', 'valiant', 'vegan', 'versatile', 'vigorous', 'violet',
  'vivacious', 'wakeful', 'warm', 'whimsical', 'wild', 'wise', 'witty', 'wooden', 'xanthic', 'zealous',
] as const;

const ANIMALS = [
  'aardvark', 'albatross', 'alligator', 'alpaca', 'anaconda', 'angelfish', 'ant', 'anteater', 'antelope', 'armadillo',
  'axolotl', 'baboon', 'badger', 'barracuda', 'bat', 'bear', 'beaver', 'bee', 'beetle', 'bison',
  'boa', 'bobcat', 'buffalo', 'bulldog', 'butterfly', 'buzzard', 'camel', 'capybara', 'caracal', 'cardinal',
  'caribou', 'cassowary', 'caterpillar', 'catfish', 'centipede', 'chameleon', 'cheetah', 'chicken', 'chimpanzee', 'chinchilla',
  'chipmunk', 'cicada', 'clam', 'cobra', 'cockatoo', 'condor', 'corgi', 'cougar', 'coyote', 'crab',
  'crane', 'cricket', 'crocodile', 'crow', 'cuckoo', 'dingo', 'dodo', 'dolphin', 'donkey', 'dove',
  'dragon', 'dragonfly', 'duck', 'eagle', 'earthworm', 'eel', 'elephant', 'elk', 'emu', 'falcon',
  'ferret', 'finch', 'flamingo', 'fox', 'frog', 'gazelle', 'gecko', 'gibbon', 'giraffe', 'gnu',
  'goat', 'goose', 'gopher', 'gorilla', 'grasshopper', 'grouse', 'hamster', 'hare', 'hawk', 'hedgehog',
  'heron', 'hippo', 'hornet', 'hound', 'hummingbird', 'hyena', 'ibex', 'ibis', 'iguana', 'impala',
  'jackal', 'jaguar', 'jellyfish', 'kangaroo', 'kestrel', 'kingfisher', 'kiwi', 'koala', 'kudu', 'ladybug',
  'lemming', 'lemur', 'leopard', 'limpet', 'lion', 'lizard', 'llama', 'lobster', 'lynx', 'macaw',
  'magpie', 'mammoth', 'manatee', 'mandrill', 'marmot', 'meerkat', 'mink', 'mole', 'mongoose', 'moose',
  'mosquito', 'moth', 'mouse', 'mule', 'narwhal', 'newt', 'nightingale', 'ocelot', 'octopus', 'okapi',
  'opossum', 'orca', 'oriole', 'ostrich', 'otter', 'owl', 'ox', 'oyster', 'panda', 'pangolin',
  'panther', 'parrot', 'partridge', 'peacock', 'pelican', 'penguin', 'pheasant', 'pig', 'pigeon', 'platypus',
  'porcupine', 'porpoise', 'puffin', 'puma', 'python', 'quail', 'quetzal', 'rabbit', 'raccoon', 'ram',
  'raven', 'reindeer', 'rhino', 'robin', 'salamander', 'scorpion', 'seahorse', 'seal', 'shark', 'sheep',
  'skink', 'skunk', 'sloth', 'snail', 'sparrow', 'spider', 'squid', 'squirrel', 'starfish', 'stingray',
  'stork', 'swan', 'tapir', 'tarantula', 'termite', 'tiger', 'toad', 'tortoise', 'toucan', 'trout',
  'tuna', 'turkey', 'turtle', 'viper', 'vulture', 'wallaby', 'walrus', 'warthog', 'wasp', 'weasel',
  'whale', 'wildebeest', 'wolf', 'wolverine', 'wombat', 'woodpecker', 'yak', 'zebra',
] as const;

const pick = <T>(words: readonly T[]): T => words[randomInt(words.length)];

/** A random two-word run name (`adjective-animal`), Prefect's default when a client names none. */
export function generateRunName(): string {
  return `${pick(ADJECTIVES)}-${pick(ANIMALS)}`;
}
