/**
 * The fixed vocabularies of the MovieLens files: genre names and occupation names. The ml-1m
 * occupation codes are its README's; the ml-100k names are its u.occupation file's.
 */

/** ml-100k genres in the order of u.genre, which is the order of u.item's 19 flag columns. */
export const ML100K_GENRES: readonly string[] = [
  'unknown',
  'Action',
  'Adventure',
  'Animation',
  "Children's",
  'Comedy',
  'Crime',
  'Documentary',
  'Drama',
  'Fantasy',
  'Film-Noir',
  'Horror',
  'Musical',
  'Mystery',
  'Romance',
  'Sci-Fi',
  'Thriller',
  'War',
  'Western',
];

/** ml-100k occupations, as listed in u.occupation. */
export const ML100K_OCCUPATIONS: readonly string[] = [
  'administrator',
  'artist',
  'doctor',
  'educator',
  'engineer',
  'entertainment',
  'executive',
  'healthcare',
  'homemaker',
  'lawyer',
  'librarian',
  'marketing',
  'none',
  'other',
  'programmer',
  'retired',
  'salesman',
  'scientist',
  'student',
  'technician',
  'writer',
];

/** ml-1m occupation names indexed by their code 0–20 in users.dat. */
export const ML1M_OCCUPATIONS: readonly string[] = [
  'other',
  'academic/educator',
  'artist',
  'clerical/admin',
  'college/grad student',
  'customer service',
  'doctor/health care',
  'executive/managerial',
  'farmer',
  'homemaker',
  'K-12 student',
  'lawyer',
  'programmer',
  'retired',
  'sales/marketing',
  'scientist',
  'self-employed',
  'technician/engineer',
  'tradesman/craftsman',
  'unemployed',
  'writer',
];

/** The genre marker of ml-latest/ml-20m for a movie without genres; read as no genres. */
export const NO_GENRES_LISTED = '(no genres listed)';
