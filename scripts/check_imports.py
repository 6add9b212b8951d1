#!/usr/bin/env python3
"""Fails when two modules of src/ import each other (a file pair, or two top-level modules).

Reads every `use` and every `crate::`/`super::` path outside test modules, resolves
it to the longest module it names, and ignores a module's own parent or children (re-exports).
"""
import os,re,sys
root=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'src')
mods={}
for dp,dn,fn in os.walk(root):
    for f in fn:
        # Test modules in files of their own (`#[cfg(test)] mod tests;`) are not the library.
        if not f.endswith('.rs') or f == 'tests.rs': continue
        p=os.path.join(dp,f)
        rel=os.path.relpath(p,root)[:-3]
        parts=rel.split('/')
        if parts[-1]=='mod': parts=parts[:-1]
        if parts==['lib'] or parts==['main']: parts=[]
        mods['::'.join(parts)]=p
def resolve(cur, path):
    # cur: module path list of file; path: use path tokens
    segs=path.split('::')
    if segs[0]=='crate': base=[]; segs=segs[1:]
    elif segs[0]=='super':
        base=cur[:]
        while segs and segs[0]=='super':
            base=base[:-1]; segs=segs[1:]
    elif segs[0]=='self': base=cur[:]; segs=segs[1:]
    else: return None
    # longest prefix that is a module
    best=None
    for i in range(len(segs),-1,-1):
        cand='::'.join(base+segs[:i])
        if cand in mods: best=cand; break
    return best
edges=set()
for m,p in mods.items():
    cur=m.split('::') if m else []
    is_mod_file=p.endswith('mod.rs') or p.endswith('lib.rs')
    # for a non-mod file, `super` refers to parent of the module
    src=open(p).read()
    src=re.sub(r'#\[cfg\(test\)\]\s*mod tests\s*\{.*', '', src, flags=re.S)
    for u in re.findall(r'^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);', src, re.M):
        u=u.replace('\n',' ').replace(' ','')
        u=re.sub(r'\{.*','',u).rstrip(':')
        t=resolve(cur,u)
        if t is None or t==m: continue
        # ignore parent/child (mod.rs re-exports)
        if t and (m.startswith(t+'::') or t.startswith(m+'::') or t=='' or m==''): continue
        edges.add((m,t))
    for u in re.findall(r'(?<![\w:])((?:crate|super)(?:::\w+)+)', src):
        t=resolve(cur,u)
        if t is None or t==m: continue
        if t and (m.startswith(t+'::') or t.startswith(m+'::') or t=='' or m==''): continue
        edges.add((m,t))
found=[]
for a,b in sorted(edges):
    if (b,a) in edges and a<b: found.append(f'{a} <-> {b}')
# The same between the top-level modules (folders): `settings` using `service` while a file of
# `service` uses `settings` is a circle too.
top={(a.split('::')[0],b.split('::')[0]) for a,b in edges if a.split('::')[0]!=b.split('::')[0]}
for a,b in sorted(top):
    if (b,a) in top and a<b: found.append(f'{a} <-> {b} (modules)')
for f in found: print('import circle:', f)
if found: sys.exit(1)
print(f'check_imports: {len(mods)} modules, {len(edges)} imports between them, no circle')
